"""HTTP intake: the CRM's contract-signed webhook and product events, signed with a shared secret."""
