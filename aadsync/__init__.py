"""MS AAD settings, the Microsoft client, the sync engine, scheduling, and look-up history."""
