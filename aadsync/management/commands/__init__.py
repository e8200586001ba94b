"""aadconfig, aadsync, rotatesecrets."""
