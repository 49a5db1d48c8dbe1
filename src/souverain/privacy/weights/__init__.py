"""Files shipped with the privacy layer: the person-name model (``person_model.json.gz``)."""
