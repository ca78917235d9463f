"""CRM integrations: won deals become contracts (HubSpot, Salesforce); phase and status go back."""
