"""Everything that talks to Microsoft: tokens (msal), Graph requests, and their answers as data."""
