"""The network-namespace lab: an appliance namespace and one namespace per member router."""
