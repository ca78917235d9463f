"""What CS leaders read: KPIs, time to first value, load and capacity, computed from the records."""
