"""Submission portal (a face): a mobile page to see what is owed and upload it.

The web application is pingan.portal.app; link signing lives in pingan.core.links.
"""
