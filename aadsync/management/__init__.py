"""Operators' commands of the MS AAD integration."""
