"""Who a person is sent to: rules, engine, crisis detection, gap analysis."""
