"""The customer-onboarding domain: contracts, playbooks, journeys, records and email."""
