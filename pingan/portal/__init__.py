"""Submission portal: a personal link in every message, a mobile page to see what is owed
and upload it.

Importing this package stays cheap (no FastAPI): message rendering imports personal_link.
The web application is pingan.portal.app.
"""

from pingan.portal.tokens import personal_link

__all__ = ["personal_link"]
