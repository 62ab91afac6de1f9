"""Request and response shapes of the three serving protocols; all build frames in modelio."""
