"""Tables and plots of the studies."""
