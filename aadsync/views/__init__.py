"""The MS AAD pages of the CM portal: the settings page, One-time Sync and its status, the sync history."""
