"""The CM portal's directory screens: users, My Information, the Company Directory, the AAID ID dropdown, sign-in."""
