"""Expected deliveries (agreements §5): when each feed's deliveries are due, which are missing, and the
reminders (催报) the hub sends for the late ones."""
