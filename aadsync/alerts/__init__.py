"""What follows a look-up's end: the failure streak and quarantine (state.py), alert e-mails to managers (rules.py,
emails.py, tasks.py), hooked in aadsync.runs.sync_runs_ended after the run's end has committed."""
