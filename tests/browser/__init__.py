"""Browser tests: Playwright (Python) driving Debian's Chromium against a real in-process server."""
