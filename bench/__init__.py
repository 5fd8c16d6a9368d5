"""Load scenarios against the web process started exactly as the Procfile does."""
