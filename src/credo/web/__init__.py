"""The human face of Credo: server-rendered pages in English and Simplified Chinese, inside ``credo serve``.

Pages are an edge like the API and the command line: parse, one service call, render (docs/web.md). They
work with JavaScript turned off, follow GOV.UK's patterns (plain words, one thing per page) and load
nothing from another origin.
"""
