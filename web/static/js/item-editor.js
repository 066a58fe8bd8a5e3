// The item editor: choosing another item or question type shows that type's fields at once.
// Without this script the "Update form" button next to the type does the same.
"use strict";

document.querySelectorAll("select[data-updates-form]").forEach((select) => {
  select.addEventListener("change", () => {
    const button = select.parentElement.querySelector("button[name=action][value=update]");
    if (button && select.form) {
      select.form.requestSubmit(button);
    }
  });
});
