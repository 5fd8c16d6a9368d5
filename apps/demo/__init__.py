"""Demo data: logins for every role, kitchens around Paris with hours and dishes.

The top layer: it may use every business app (later demo orders and deliveries too),
and no app uses it. Everything is written through the apps' own services, so events
fire and rules hold as for real users."""
