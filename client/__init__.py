"""falfake's minimal fal client: its code arrives with issue #5; until then it is empty."""
