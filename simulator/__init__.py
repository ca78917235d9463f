"""The playbook simulator: the real workflow and playbook, one customer journey, in virtual time."""
