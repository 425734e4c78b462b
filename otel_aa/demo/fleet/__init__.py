"""An included app of the demo site, as Alliance Auth's apps and plugins are."""
