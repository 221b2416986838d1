"""`herocool`: Herocool's command-line client. It talks to the platform only through its
REST API (/api/v1/), with a personal access token; the standard library is all it needs."""
__version__ = "1.0"
