"""The exam's routes, by audience: the candidate's "My page", the check-in before the exam, the
exam page and its JSON API, and the certification body's staff pages."""
