"""Human handoff: tickets, their priority and team, office hours, and what agents do with them."""
