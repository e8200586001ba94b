"""Companies, sites, the people who log in (managers and users), and the Company Directory."""
