"""Cassettes from and to other tools' files: vcrpy / pytest-recording cassettes and HAR 1.2.

Imported streams carry no chunk timing (neither format keeps it), and the cassette says so:
`Response.timing` is `imported` (the body is one chunk at the recorded total time) or
`paced` (spaced per event by `--pace`, invented). Every imported interaction is redacted
like a recorded one, and what was redacted is reported.
"""
