//! Which rows count: live sightings of active users, investor-linked email only.
