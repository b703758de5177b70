"""Channel adapters: each translates platform updates to Incoming and Outgoing to sends."""
