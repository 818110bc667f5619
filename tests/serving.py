"Un servidor HTTP local para las pruebas que descargan (datos del curso, tablas del repositorio)."
import functools
import http.server
import threading


class Server:
    "Un servidor HTTP en 127.0.0.1 que sirve una carpeta y cuenta las peticiones."
    def __init__(self, folder, truncate=None):
        self.requests = []
        owner = self
        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_GET(self):
                owner.requests.append(self.path)
                if truncate and self.path.endswith(truncate):  # anuncia el archivo entero y corta a la mitad
                    body = (folder/truncate).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 2])
                    self.close_connection = True
                    return
                super().do_GET()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
