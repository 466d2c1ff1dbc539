from practika import create_app

app = create_app()
