"""Text features and models shared by the studies."""
