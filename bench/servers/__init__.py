"""The servers under test that the benchmark brings itself (the hub comes from the product).

Each one serves WebSocket clients, generates benchmark events when told to on
``POST /bench/publish?n=K`` (stamping each with its publish time as it is made, then
broadcasting it to every client), and prints the URL it serves on its first line of output.
"""
