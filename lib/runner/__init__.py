"""Execute the numbered notebooks with papermill into HTML reports, a manifest and an index page."""
