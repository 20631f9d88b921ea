// A report that takes a while to build: fetch it in the background and say what is happening,
// with the seconds counting, instead of leaving a link that seems to do nothing. Without
// JavaScript the plain link still downloads the file. The live region says only the start, the
// end and a failure; the counting seconds are shown beside it, outside it, so a screen reader
// is not interrupted every second.
document.querySelectorAll("a[data-slow-download]").forEach(function (link) {
  var status = document.getElementById("download-status");
  var seconds = document.getElementById("download-seconds");
  var what = link.getAttribute("data-slow-download");
  link.addEventListener("click", function (event) {
    if (!window.fetch || !window.URL || !URL.createObjectURL) return;
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") return;
    link.setAttribute("aria-busy", "true");
    var started = Date.now();
    var say = function (text) { if (status) status.textContent = text; };
    var count = function (text) { if (seconds) seconds.textContent = text; };
    say("Preparing the " + what + "…");
    var timer = setInterval(function () {
      count(Math.round((Date.now() - started) / 1000) + " s");
    }, 1000);
    fetch(link.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        var header = response.headers.get("Content-Disposition") || "";
        var match = /filename="?([^";]+)"?/.exec(header);
        return response.blob().then(function (blob) {
          return { blob: blob, name: match ? match[1] : "report" };
        });
      })
      .then(function (file) {
        var url = URL.createObjectURL(file.blob);
        var save = document.createElement("a");
        save.href = url;
        save.download = file.name;
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        say("The " + what + " is ready: " + file.name);
      })
      .catch(function () {
        say("The " + what + " could not be prepared. Please try again in a moment.");
      })
      .then(function () {
        clearInterval(timer);
        count("");
        link.removeAttribute("aria-busy");
      });
  });
});
