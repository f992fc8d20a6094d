"""Pictures and reports of cassettes for people: HTML timelines, cassette diffs. Pure: text in,
text out; the commands and the pytest plugin write the files."""
