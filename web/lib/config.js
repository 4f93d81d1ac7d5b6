// Where the API and the event socket are: /config.json, written by the deployment (CloudFront's
// bucket) or served by `make run`'s web server. Read once per page.
let loaded = null;

export function config() {
  if (loaded === null) {
    loaded = fetch("/config.json", { cache: "no-store" }).then((response) => {
      if (!response.ok) throw new Error(`config.json answered ${response.status}`);
      return response.json();
    });
  }
  return loaded;
}
