"""Sign in with Microsoft: the authorization-code flow per company, id_token verification, its views and URLs."""
