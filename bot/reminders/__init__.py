"""Deadline reminders: events -> due times, the durable store, the sender woken on a timer."""
