"""Server-rendered pages (Jinja2): the recipient's credential page and its private
management page. Thin: templates get ready-made values from `views`."""
