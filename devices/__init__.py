"""Device set-up (automatic configuration, Apple profiles, per-client instructions) and calendars and
contacts (Radicale on the mail hosts). Nothing is imported here: Radicale loads `devices.radicale_rights`
without Django."""
