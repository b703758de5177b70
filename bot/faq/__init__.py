"""FAQ answering: knowledge loading, Chinese text normalisation, BM25 retrieval."""
