"""What every form of the platform shares: Bootstrap's classes on its widgets, and its
errors as one sentence for a view that answers with a message rather than the form."""
from django import forms


def errors_text(form):
    """Every error of an invalid form, joined: for messages.error on a redirect."""
    return " ".join(e for errs in form.errors.values() for e in errs)


class StyledFormMixin:
    """Give each widget the Bootstrap class its kind needs, so templates stay plain."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.RadioSelect, forms.CheckboxInput)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
