// Disable a form's submit button once pressed, so a double click sends one request.
// The server refuses a second submission anyway; this only spares the person an error page.
document.querySelectorAll("form[data-once]").forEach(function (form) {
  form.addEventListener("submit", function () {
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.disabled = true;
      b.textContent = "Submitting…";
    });
  });
});
