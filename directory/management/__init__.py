"""Operators' commands for companies, people and AAD links."""
