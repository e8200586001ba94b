"""Proposed links between phone users and AAD accounts: match keys, the proposals (reads) and linking in bulk."""
