"""Following a deployment: its log as it is written, a progress line on a terminal, and
the exit status that says how it ended."""
import time

# 0 succeeded; 1 an error (the platform refused, or could not be reached); 2 wrong usage
# (argparse's); 3 the deployment failed; 4 it was cancelled.
EXIT_ERROR, EXIT_FAILED, EXIT_CANCELLED = 1, 3, 4
EXIT_FOR = {"succeeded": 0, "failed": EXIT_FAILED, "cancelled": EXIT_CANCELLED}
SPINNER = "|/-\\"


def follow(client, code, out, progress, interval=1.0):
    """Print the log of deployment `code` until it ends; returns the deployment."""
    after, started, tick = 0, time.monotonic(), 0
    live = progress.isatty()
    while True:
        chunk = client.get(f"deployments/{code}/log/", after=after)
        if chunk["text"]:
            if live:
                progress.write("\r\033[K")
            out.write(chunk["text"])
            out.flush()
        after = chunk["next"]
        if not chunk["active"]:
            break
        if live:
            tick += 1
            progress.write(f"\r{SPINNER[tick % 4]} {chunk['status']} "
                           f"{time.monotonic() - started:.0f}s")
            progress.flush()
        time.sleep(interval)
    if live:
        progress.write("\r\033[K")
    return client.get(f"deployments/{code}/")


def exit_status(deployment):
    """What the command exits with for a deployment that has ended."""
    return EXIT_FOR.get(deployment["status"], EXIT_ERROR)


def ending(deployment):
    """One line for people: how it ended, and why if it did not succeed."""
    what = f"{deployment['action']} of {deployment['resource']['name']}"
    line = f"Deployment {deployment['code']} ({what}) {deployment['status']}."
    if deployment["status"] != "succeeded" and deployment.get("error"):
        line += f" {deployment['error']}"
    return line
