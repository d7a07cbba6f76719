"""The dashboard at `/_falfake/ui/`: what the fake received and did, live, in a browser.

Server-rendered pages (Jinja2, autoescaped) with a little plain JavaScript; live parts are HTML
fragments the fake renders and sends over Server-Sent Events, so there is one place that writes
markup and everything a user sent is escaped there. Nothing loads from another origin.
"""
