// While a custom domain's TXT check is queued (a job: sites/domains.py check_domain), its
// row says "checking…" ([data-domain-checking]); the page reloads until the job has
// answered, like the deployment page does once a deployment ends.
(function () {
  if (!document.querySelector("[data-domain-checking]")) return;
  let waited = 0;
  const again = function () {
    waited += 1;
    if (document.hidden && waited < 60) { setTimeout(again, 2000); return; }
    window.location.reload();
  };
  setTimeout(again, 1500);
})();
